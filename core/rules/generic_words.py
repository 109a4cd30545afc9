"""Single words that name a body part or a kind of problem, not a condition ("Renal diet", "bone", "disease",
"transplant"): a code read from one of them alone is left for review."""

import re

GENERIC_WORDS = {
    "en": {"renal", "kidney", "kidneys", "cardiac", "heart", "pulmonary", "lung", "lungs", "bone", "bones", "skin",
           "artery", "arteries", "vein", "veins", "liver", "hepatic", "disease", "disorder", "infection", "lesion",
           "lesions", "defect", "condition", "problem", "syndrome", "sinus", "wound", "injury", "mass", "left",
           "right", "history", "attempts", "daily", "abnormal", "abnormality", "ischemic", "vascular", "venous", "rest",
           "fluids", "transplant", "deployment"},
    "es": {"renal", "riñón", "cardiaco", "cardíaco", "pulmonar", "pulmón", "hueso", "piel", "arteria", "vena",
           "hígado", "hepático", "enfermedad", "trastorno", "infección", "lesión", "lesiones", "defecto",
           "problema", "síndrome", "herida", "masa", "izquierdo", "derecho", "antecedentes", "patología", "isquémico",
           "isquémica", "vascular", "venoso", "venosa", "trasplante"},
}

# Words before alcohol or tobacco that say the use is light: no disorder ("rare EtOH", "bebedor ocasional").
LIGHT_USE = re.compile(r"\b(?:rare|rarely|occasional|occasionally|socially|minimal|ocasional|ocasionalmente|"
                       r"social(?:mente)?)\W*$", re.IGNORECASE)
