"""Single words that name a body part or a kind of problem, not a condition ("Renal diet", "bone", "disease"): a
code read from one of them alone is left for review."""

GENERIC_WORDS = {
    "en": {"renal", "kidney", "kidneys", "cardiac", "heart", "pulmonary", "lung", "lungs", "bone", "bones", "skin",
           "artery", "arteries", "vein", "veins", "liver", "hepatic", "disease", "disorder", "infection", "lesion",
           "lesions", "defect", "condition", "problem", "syndrome", "sinus", "wound", "injury", "mass", "left",
           "right", "history", "attempts", "daily", "abnormal", "abnormality"},
    "es": {"renal", "riñón", "cardiaco", "cardíaco", "pulmonar", "pulmón", "hueso", "piel", "arteria", "vena",
           "hígado", "hepático", "enfermedad", "trastorno", "infección", "lesión", "lesiones", "defecto",
           "problema", "síndrome", "herida", "masa", "izquierdo", "derecho", "antecedentes", "patología"},
}
