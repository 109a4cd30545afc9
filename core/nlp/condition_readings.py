"""Specificity read from the words around a condition, beyond CKD stage and heart-failure type (``readings.py``):
the type of a myocardial infarction and the artery of a STEMI, the exacerbation of asthma and COPD, hypoxia or
hypercapnia in respiratory failure, the organism of a pneumonia or a sepsis, the form of a migraine, of an iron
deficiency anemia and of an acute otitis media, the site and side of a cellulitis. Each is a pattern per language
whose words, all in one sentence, make a billable code; a side the sentence names completes the code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.nlp.sentences import SEMICOLON, SentenceIndex

_I = re.IGNORECASE
_MRSA = {"en": r"\bmrsa\b|methicillin[- ]resistant staph", "es": r"\b(?:sarm|mrsa)\b|resistente a (?:la )?meticilina"}
_MSSA = {"en": r"\bmssa\b|methicillin[- ](?:susceptible|sensitive) staph",
         "es": r"\b(?:sasm|mssa)\b|sensible a (?:la )?meticilina"}
_PNEUMOCOCCUS = {"en": r"pneumococc|streptococcus pneumoniae|s\. ?pneumoniae",
                 "es": r"neumoc[oó]c|streptococcus pneumoniae|s\. ?pneumoniae"}
_SEPSIS = {"en": r"\bsepsis\b|\bseptic(?:emia)?\b|\burosepsis\b", "es": r"\bsepsis\b|\bs[eé]ptico\b|\bsepticemia\b"}
# Type 1 and type 2 diabetes as notes write them.
_DIABETES = {
    "en": {"1": r"\b(?:t1dm|dm1|dm ?i\b|iddm|type (?:1|i|one) (?:diabetes|dm|diabetic)|diabetes mellitus,? type (?:1|i)\b)",
           "2": r"\b(?:t2dm|dm2|dm ?ii\b|niddm|type (?:2|ii|two) (?:diabetes|dm|diabetic)|diabetes mellitus,? type "
                r"(?:2|ii)\b)"},
    "es": {"1": r"\b(?:dm1|dm ?i\b|dm tipo 1|diabetes (?:mellitus )?tipo (?:1|i)\b)",
           "2": r"\b(?:dm2|dm ?ii\b|dm tipo 2|diabetes (?:mellitus )?tipo (?:2|ii)\b)"},
}
# Diabetes due to a drug (E09): "steroid-induced diabetes", "diabetes esteroidea".
_DIABETES["en"]["drug"] = (r"\b(?:steroid|drug|glucocorticoid|corticosteroid|medication|prednisone)[- ]induced "
                           r"(?:diabetes|dm)\b")
_DIABETES["es"]["drug"] = r"\bdiabetes (?:esteroidea|inducida por (?:corticoides|esteroides|f[aá]rmacos))\b"
_PNEUMONIA = {"en": r"\bpneumonia\b", "es": r"\bneumon[ií]a\b"}


# psychotic features said, not denied ("no psychotic features", "sin síntomas psicóticos")
_PSYCHOTIC = {"en": r"(?<!without )(?<!w/o )(?<!w/out )(?<!no )psychotic",
              "es": r"(?<!sin )(?<!sin rasgos )(?<!sin s[ií]ntomas )(?<!sin cl[ií]nica )psic[oó]tic|"
                    r"(?<!sin )(?<!no )ideas delirantes"}
_DEPRESSION_CODE = {**{("F33", d): f"F33.{d}" for d in ("0", "1", "2", "9", "41", "42")}, ("F33", "33"): "F33.3",
                    **{("F32", d): f"F32.{d}" for d in ("0", "1", "2", "9")}, ("F32", "41"): "F32.4",
                    ("F32", "42"): "F32.5", ("F32", "33"): "F32.3"}


def _bipolar_patterns(language: str, psychotic: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(code, what, words besides "bipolar", words that say otherwise): the first that fits a sentence wins."""
    en = language == "en"
    manic = r"\bmanic\b|\bmania\b" if en else r"\bman[ií]ac[oa]\b|\bman[ií]a\b"
    depressed = (r"\bdepressed\b|\bdepressive episode|episode,? depress" if en
                 else r"\bdepresiv[oa]\b|\bdepresi[oó]n\b")
    hypomanic = r"hypomani" if en else r"hipoman[ií]"
    severe, moderate, mild = ((r"\bsevere\b", r"\bmoderate\b", r"\bmild\b") if en
                              else (r"\bgrave\b|\bsever[oa]\b", r"\bmoderad[oa]\b", r"\bleve\b"))
    return [
        ("F31.81", "type II", (r"\bbipolar (?:ii|2)\b|bipolar (?:disorder,? )?type (?:ii|2)\b" if en
                               else r"\bbipolar (?:tipo )?(?:ii|2)\b",), ""),
        ("F31.0", "current episode hypomanic", (hypomanic,), ""),
        ("F31.2", "current episode manic, severe, with psychotic features", (manic, psychotic), ""),
        ("F31.13", "current episode manic without psychotic features, severe", (manic, severe), psychotic),
        ("F31.12", "current episode manic without psychotic features, moderate", (manic, moderate), psychotic),
        ("F31.11", "current episode manic without psychotic features, mild", (manic, mild), psychotic),
        ("F31.5", "current episode depressed, severe, with psychotic features", (depressed, psychotic), ""),
        ("F31.4", "current episode depressed, severe, without psychotic features", (depressed, severe), psychotic),
        ("F31.32", "current episode depressed, moderate", (depressed, moderate), psychotic),
        ("F31.31", "current episode depressed, mild", (depressed, mild), psychotic),
    ]


@dataclass(frozen=True, slots=True)
class Pattern:
    code: str  # with "{side}" where the side completes it
    what: str
    needs: tuple[str, ...]  # each must occur in the sentence
    unless: str = ""  # a word that says otherwise (an exacerbation "without", a perforation)
    sides: str = ""  # the side digits: right, left, both, unspecified ("1239")
    one_per: int = 3  # a sentence reads one code per this many leading characters (its category; J96: its code)


def _patterns(language: str) -> list[Pattern]:
    en = language == "en"
    sepsis, pneumonia, psychotic = _SEPSIS[language], _PNEUMONIA[language], _PSYCHOTIC[language]
    exacerbation = (r"exacerbat|flare|attack|acute asthma" if en
                    else r"crisis|agudizad|agudizaci[oó]n|exacerbaci[oó]n|reagudiza")
    status_asthmaticus = (r"(?<!no )(?<!not in )(?<!without )status asthmaticus" if en
                          else r"(?<!sin )(?<!no )(?:estatus|estado|status) asm[aá]tico")
    # A migraine "refractory to treatment" is intractable; "not intractable" / "no refractaria" is not.
    intractable = (r"(?<!not )(?<!non-)\b(?:intractable|refractory|pharmacoresistant)\b" if en
                   else r"(?<!no )\b(?:intratable|refractaria|farmacorresistente)\b")
    status_migrainosus = (r"(?<!no )(?<!without )status migrainosus" if en
                          else r"(?<!sin )(?<!no )(?:estado|estatus) migra[ñn]oso")
    return [
        # organism of a sepsis and of a pneumonia (sepsis first: the resistant strain before the susceptible one)
        Pattern("A41.02", "MRSA sepsis", (sepsis, _MRSA[language])),
        Pattern("A41.01", "MSSA sepsis", (sepsis, _MSSA[language])),
        Pattern("A40.3", "pneumococcal sepsis", (sepsis, _PNEUMOCOCCUS[language])),
        Pattern("A41.51", "sepsis due to E. coli", (sepsis, r"\be\. ?coli\b|escherichia coli")),
        Pattern("J15.212", "MRSA pneumonia", (pneumonia, _MRSA[language])),
        Pattern("J15.211", "MSSA pneumonia", (pneumonia, _MSSA[language])),
        Pattern("J13", "pneumococcal pneumonia", (pneumonia, _PNEUMOCOCCUS[language])),
        Pattern("J15.1", "pneumonia due to Pseudomonas", (pneumonia, r"\bpseudomonas\b")),
        Pattern("J14", "pneumonia due to Haemophilus influenzae", (pneumonia, r"\bh(?:a?emophilus|\.) ?influenzae\b")),
        Pattern("J15.0", "pneumonia due to Klebsiella pneumoniae", (pneumonia, r"\bklebsiella\b")),
        Pattern("J15.5", "pneumonia due to E. coli", (pneumonia, r"\be\. ?coli\b|escherichia coli")),
        # diabetes: peripheral polyneuropathy (Neuropathy, peripheral → see Polyneuropathy), poor control
        # (Diabetes, poorly controlled → with hyperglycemia)
        *(Pattern(f"{category}.42", f"type {kind} diabetes with polyneuropathy", (_DIABETES[language][kind], (
            r"peripheral (?:poly)?neuropathy|polyneuropathy|\bdpn\b" if en else
            r"polineuropat[ií]a|neuropat[ií]a perif[eé]rica")))
          for kind, category in (("1", "E10"), ("2", "E11"))),
        *(Pattern(f"{category}.65", f"{'drug-induced' if kind == 'drug' else 'type ' + kind} diabetes with hyperglycemia", (_DIABETES[language][kind], (
            r"poorly controlled|inadequately controlled|suboptimally controlled|out of control|poor (?:glycemic )?"
            r"control|(?:with|w/) hyperglycemia" if en else
            r"mal control(?:ad[oa])?|control (?:gluc[eé]mico )?deficiente|con hiperglucemia")))
          for kind, category in (("1", "E10"), ("2", "E11"), ("drug", "E09"))),
        # diabetes with hypoglycemia with coma (Diabetes, type 1, with, hypoglycemia, with coma)
        *(Pattern(f"{category}.641", f"type {kind} diabetes with hypoglycemia with coma", (_DIABETES[language][kind], (
            r"hypoglyc[ae]mi(?:c|a with) coma" if en else r"coma hipogluc[eé]mico|hipoglucemia con coma")))
          for kind, category in (("1", "E10"), ("2", "E11"))),
        # electronic cigarettes, vaping: Dependence, drug, nicotine, specified product NEC (F17.29-)
        Pattern("F17.290", "nicotine dependence, other tobacco product",
                (r"nicotine (?:dependence|use disorder)|\bvap(?:es|ing|er)\b|e-?cig" if en else
                 r"dependencia (?:de|a) (?:la )?nicotina|\bvapea\b|\bvapeo\b|cigarrillo electr[oó]nico",
                 r"\bvap(?:e|es|ing|er)\b|\be-?cig(?:arette)?s?\b|electronic cigarette|\bjuul\b" if en else
                 r"\bvapea\b|\bvapeo\b|cigarrillos? electr[oó]nicos?"),
                unless=r"\b(?:former|quit|never)\b|(?<!e-)\bcigarettes?\b|\bppd\b|pack|cannabis|marijuana|\bthc\b"
                if en else r"\b(?:exfumador[a]?|abandon\w*|dej[oó])\b|\bpaq|cannabis|marihuana"),
        # cigarettes: Dependence, drug, nicotine, cigarettes (a pack count is cigarettes)
        Pattern("F17.210", "nicotine dependence, cigarettes",
                (r"\bsmok(?:er|es|ing)\b|nicotine dependence|tobacco (?:use|dependence)" if en else
                 r"\bfumador(?:a)?\b|\bfuma\b|tabaquismo|dependencia (?:de|a) (?:la )?nicotina",
                 r"\bcigarettes?\b|\bppd\b|packs? (?:a|per) day|pack[- ]years?|\bpk[- ]?yrs?\b|\bcigs?\b" if en else
                 r"\bcigarrillos?\b|\bcig(?:s|arros)?\b|paquetes?|\bpaq\b"),
                unless=r"\b(?:former|ex-?smoker|quit|never|non-?smoker)\b|\bcigars?\b|\be-cig|\bvap(?:es|ing)\b" if en else
                r"\b(?:exfumador[a]?|ex fumador[a]?|no fumador[a]?|abandon\w*|dej[oó])\b|\bpuros?\b"),
        # myocardial infarction: the artery of a STEMI, a NSTEMI
        Pattern("I21.02", "STEMI of the left anterior descending artery",
                (r"\bstemi\b|st[- ]elevation (?:myocardial infarction|mi)" if en else
                 r"\biamcest\b|iam con elevaci[oó]n del st|\bscacest\b",
                 r"\blad\b|left anterior descending" if en else r"\bda\b|descendente anterior")),
        Pattern("I21.11", "STEMI of the right coronary artery",
                (r"\bstemi\b|st[- ]elevation (?:myocardial infarction|mi)" if en else
                 r"\biamcest\b|iam con elevaci[oó]n del st|\bscacest\b",
                 r"\brca\b|right coronary" if en else r"\bcd\b|coronaria derecha")),
        Pattern("I21.4", "non-ST elevation myocardial infarction",
                (r"\bnstemi\b|non[- ]st[- ]elevation (?:myocardial infarction|mi)" if en else
                 r"\biamsest\b|iam sin elevaci[oó]n del st|infarto (?:agudo )?(?:de miocardio )?sin elevaci[oó]n "
                 r"del st",)),
        # a lumbar disc displacement with the radiculopathy it causes (Radiculopathy > due to > displacement of
        # intervertebral disc: see Disorder, disc, with radiculopathy)
        *(Pattern(f"M51.1{digit}", f"{region} intervertebral disc disorder with radiculopathy",
                  (r"\bdis[ck] (?:herniation|protrusion|extrusion|displacement)|\bherniated (?:lumbar )?dis[ck]|"
                   r"\bhnp\b|\bherniated nucleus pulposus" if en else
                   r"\bhernia (?:de )?disc(?:al|o)|\bprotrusi[oó]n disc(?:al|o)|\bextrusi[oó]n disc(?:al|o)",
                   r"\bradiculopath|\bsciatica\b" if en else r"\bradiculopat[ií]a|\bci[aá]tica\b", levels))
          for digit, region, levels in (
              ("7", "lumbosacral", r"\blumbosacral\b|\bL5\s*-\s*S1\b" if en else r"\blumbosacr[oa]\b|\bL5\s*-\s*S1\b"),
              ("6", "lumbar", r"\blumbar\b|\bL[1-4]\s*-\s*L?[2-5]\b" if en else r"\blumbar\b|\bL[1-4]\s*-\s*L?[2-5]\b"))),
        # status asthmaticus (before the exacerbations: the status is the worse of the two)
        *(Pattern(f"J45.{digit}2", f"{name} asthma, status asthmaticus", (words, status_asthmaticus))
          for digit, name, words in (
              ("2", "mild intermittent", r"mild intermittent asthma" if en else r"asma (?:bronquial )?intermitente leve"),
              ("3", "mild persistent", r"mild persistent asthma" if en else r"asma (?:bronquial )?persistente leve"),
              ("4", "moderate persistent", r"moderate persistent asthma" if en else
               r"asma (?:bronquial )?persistente moderad[ao]"),
              ("5", "severe persistent", r"severe persistent asthma" if en else r"asma (?:bronquial )?persistente grave"))),
        # exacerbations
        Pattern("J45.21", "mild intermittent asthma, exacerbation",
                (r"mild intermittent asthma" if en else r"asma (?:bronquial )?intermitente leve", exacerbation)),
        Pattern("J45.31", "mild persistent asthma, exacerbation",
                (r"mild persistent asthma" if en else r"asma (?:bronquial )?persistente leve", exacerbation)),
        Pattern("J45.41", "moderate persistent asthma, exacerbation",
                (r"moderate persistent asthma" if en else r"asma (?:bronquial )?persistente moderada", exacerbation)),
        Pattern("J45.51", "severe persistent asthma, exacerbation",
                (r"severe persistent asthma" if en else r"asma (?:bronquial )?persistente grave", exacerbation)),
        Pattern("J44.1", "COPD with acute exacerbation",
                (r"\bcopd\b|chronic obstructive pulmonary disease" if en else
                 r"\bepoc\b|enfermedad pulmonar obstructiva cr[oó]nica", exacerbation), unless=pneumonia),
        # respiratory failure with hypoxia or hypercapnia
        # (hypoxic and hypercapnic together: both codes, so a sentence reads one code per code here)
        *(Pattern(f"J96.{acuity}{kind}", f"{name} respiratory failure with {gas}", (words, cue), one_per=6)
          for acuity, name, words in (
              ("2", "acute on chronic", r"acute[- ]on[- ]chronic (?:[\w/]+ ){0,3}respiratory failure" if en else
               r"insuficiencia respiratoria (?:\w+ )?(?:aguda sobre cr[oó]nica|cr[oó]nica agudizada)"),
              ("0", "acute", r"acute (?![- ]?on[- ]chronic)(?:[\w/]+ ){0,3}respiratory failure" if en else
               r"insuficiencia respiratoria (?:\w+ )?aguda(?! sobre)"),
              ("1", "chronic", r"(?<!on )(?<!on-)chronic (?:[\w/]+ ){0,3}respiratory failure" if en else
               r"insuficiencia respiratoria (?:\w+ )?cr[oó]nica(?! agudizada)"))
          for kind, gas, cue in (
              ("1", "hypoxia", r"hypox|oxygen saturation" if en else r"hipox[eé]mic"),
              ("2", "hypercapnia", r"hypercap|hypercarb" if en else r"hipercápnic|hipercapnic"))),
        # migraine, anemia, otitis media, cellulitis
        # migraine: its kind, intractability and status migrainosus (G43.<kind><intractable><status>)
        *(Pattern(f"G43.{kind}{flags}", f"{name}, {what}", (words, *needs), unless=unless)
          for kind, name, words, other in (
              ("7", "chronic migraine without aura", r"chronic migraine|transformed migraine" if en else
               r"migra[ñn]a cr[oó]nica|migra[ñn]a transformada", r"with aura" if en else r"con aura"),
              ("1", "migraine with aura", r"migraine with aura|classic(?:al)? migraine" if en else
               r"migra[ñn]a con aura", ""),
              ("0", "migraine without aura", r"migraine without aura|common migraine" if en else r"migra[ñn]a sin aura",
               r"chronic migraine" if en else r"migra[ñn]a cr[oó]nica"))
          for flags, what, needs, unless in (
              ("11", "intractable, with status migrainosus", (intractable, status_migrainosus), other),
              ("19", "intractable", (intractable,), "|".join(w for w in (status_migrainosus, other) if w)),
              ("01", "not intractable, with status migrainosus", (status_migrainosus,),
               "|".join(w for w in (intractable, other) if w)),
              ("09", "not intractable", (), "|".join(w for w in (intractable, status_migrainosus, other) if w)))),
        Pattern("D50.0", "iron deficiency anemia secondary to chronic blood loss",
                (r"iron[- ]deficiency anemia" if en else r"anemia ferrop[eé]nica|anemia por d[eé]ficit de hierro",
                 r"(?:chronic )?blood loss" if en else r"p[eé]rdidas? (?:hem[aá]ticas?|sangu[ií]neas?)")),
        Pattern("H66.00{side}", "acute suppurative otitis media without rupture of the ear drum",
                (r"acute suppurative otitis media|acute purulent otitis media" if en else
                 r"otitis media aguda (?:supurada|supurativa|purulenta)",),
                unless=r"(?<!no )(?<!without )perforat|(?<!no )ruptur" if en else r"(?<!sin )perforaci|(?<!sin )rotura",
                sides="1239"),
        Pattern("L03.11{side}", "cellulitis of the lower limb",
                (r"\bcellulitis\b" if en else r"\bcelulitis\b",
                 r"\b(?:leg|lower (?:extremity|limb)|calf|shin|thigh)\b" if en else
                 r"\b(?:pierna|miembro inferior|extremidad inferior|gemelo|muslo)\b"),
                sides="5679"),
        Pattern("L03.11{side}", "cellulitis of the upper limb",
                (r"\bcellulitis\b" if en else r"\bcelulitis\b",
                 r"\b(?:arm|forearm|upper (?:extremity|limb)|elbow)\b" if en else
                 r"\b(?:brazo|antebrazo|miembro superior|extremidad superior|codo)\b"),
                sides="3499"),
        Pattern("J10.1", "influenza due to an identified influenza virus",
                (r"\binfluenza\b|\bflu\b" if en else r"\bgripe\b|\binfluenza\b",
                 r"\b(?:influenza|flu) ?[ab]\b|\bh1n1\b|\bh3n2\b" if en else r"\b(?:gripe|influenza) ?[ab]\b|\bh1n1\b|\bh3n2\b")),
        Pattern("I48.11", "longstanding persistent atrial fibrillation",
                (r"\batrial fibrillation\b|\ba-?fib\b|\baf\b" if en else r"fibrilaci[oó]n auricular|\bfa\b",
                 r"long[- ]?standing persistent" if en else r"persistente de (?:larga|m[aá]s de un a[ñn]o de) "
                 r"(?:duraci[oó]n|evoluci[oó]n)")),
        Pattern("J02.0", "streptococcal pharyngitis",
                (r"\bpharyngitis\b|\bstrep throat\b" if en else r"\bfaringitis\b|\bfaringoamigdalitis\b",
                 r"\bstrep(?:tococc\w*)?\b|\bgas\b|\bgroup a\b" if en else r"estreptoc[oó]c|\bsga\b|\bgrupo a\b"),
                unless=r"\b(?:negative|neg|probable|likely|possible|suspected|r/o|rule out|vs)\b|(?<!no )\btonsillitis\b"
                if en else r"negativ|\bamigdalitis\b|\b(?:probable|posible|sospecha|descartar)\b"),
        # primary open-angle glaucoma: the eye and the stage (H40.11-, 7th character the stage)
        *(Pattern(f"H40.11{{side}}{stage}", f"primary open-angle glaucoma, {name} stage",
                  (r"primary open[- ]angle glaucoma|\bpoag\b" if en else
                   r"glaucoma primario de [aá]ngulo abierto|glaucoma cr[oó]nico simple|\bgpaa\b",
                   *((words_en if en else words_es,) if words_en else ())), sides="1239")
          for stage, name, words_en, words_es in (
              ("1", "mild", r"\bmild\b|\bearly\b", r"\bleve\b|\binicial\b"),
              ("2", "moderate", r"\bmoderate\b", r"\bmoderad[oa]\b"),
              ("3", "severe", r"\bsevere\b|\badvanced\b|\bend[- ]stage\b", r"\bgrave\b|\bsever[oa]\b|\bavanzad[oa]\b"),
              ("4", "indeterminate", r"\bindeterminate\b", r"\bindeterminad[oa]\b"),
              ("0", "unspecified", "", ""))),
        # dysphagia by its phase (Dysphagia, oral / oropharyngeal / pharyngeal / pharyngoesophageal phase)
        *(Pattern(code, f"dysphagia, {phase} phase", (r"\bdysphagia\b" if en else r"\bdisfagia\b", words))
          for code, phase, words in (
              ("R13.14", "pharyngoesophageal", r"pharyngo-?esophageal" if en else r"faringoesof[aá]gica"),
              ("R13.12", "oropharyngeal", r"oro-?pharyngeal" if en else r"orofar[ií]ngea"),
              ("R13.13", "pharyngeal", r"(?<!oro)(?<!oro-)pharyngeal(?! ?-?esoph)" if en else r"(?<!oro)far[ií]ngea"),
              ("R13.11", "oral", r"\boral phase\b" if en else r"\bfase oral\b"))),
        Pattern("R79.1", "abnormal coagulation profile (a raised INR)",
                (r"\bsupra-?therapeutic inr\b|\b(?:elevated|high|raised) inr\b|\binr (?:is |was )?(?:elevated|high)\b" if en
                 else r"\binr (?:elevado|supraterap[eé]utico|alto)\b",)),
        Pattern("R07.89", "atypical (other) chest pain",
                (r"\batypical chest pain\b" if en else r"\bdolor tor[aá]cico at[ií]pico\b",)),
        # deep vein thrombosis of a named vein: chronic (I82.5-) before acute (I82.4-), the side completing it
        *(Pattern(f"I82.{acuity}{n}{{side}}", f"{name} deep vein thrombosis of the {vein} vein",
                  (r"\bdvt\b|deep vein thrombosis|deep venous thrombosis" if en else
                   r"\btvp\b|trombosis venosa profunda", words, *((r"\bchronic\b" if en else r"\bcr[oó]nica\b",)
                                                                   if acuity == "5" else ())),
                  unless="" if acuity == "5" else (r"\bchronic\b" if en else r"\bcr[oó]nica\b"), sides="1239")
          for acuity, name in (("5", "chronic"), ("4", "acute"))
          for n, vein, words in (("1", "femoral", r"\bfemoral\b"), ("2", "iliac", r"\bil[ií]aca?\b"),
                                 ("3", "popliteal", r"\bpopl[ií]tea?l?\b"), ("4", "tibial", r"\btibial\b"))),
        # major depressive disorder: recurrent or single episode, and its severity or remission
        *(Pattern(code, f"major depressive disorder, {course}, {severity}",
                  (r"\bmdd\b|major depressi(?:ve disorder|on)" if en else
                   r"\btdm\b|trastorno depresivo (?:mayor|recurrente)|depresi[oó]n (?:mayor|recurrente)|"
                   r"episodio depresivo mayor",
                   r"\brecurrent\b" if en and course == "recurrent" else r"\brecurrente\b" if course == "recurrent"
                   else r"single episode" if en else r"episodio [uú]nico|\b[uú]nico\b",
                   *((words_en if en else words_es,) if words_en else ()), *((psychotic,) if digits == "33" else ())),
                  unless="" if digits in ("33", "41", "42") else psychotic)
          for course, cat in (("recurrent", "F33"), ("single episode", "F32"))
          for severity, digits, words_en, words_es in (
              ("in partial remission", "41", r"partial(?:ly)? remission", r"remisi[oó]n parcial"),
              ("in full remission", "42", r"(?:full|complete|sustained) remission", r"remisi[oó]n (?:completa|total)"),
              ("severe with psychotic symptoms", "33", r"\bsevere\b", r"\bgrave\b|\bsever[oa]\b"),
              ("mild", "0", r"\bmild\b", r"\bleve\b"), ("moderate", "1", r"\bmoderate\b", r"\bmoderad[oa]\b"),
              ("severe", "2", r"\bsevere\b", r"\bgrave\b|\bsever[oa]\b"), ("unspecified", "9", "", ""))
          for code in (_DEPRESSION_CODE[cat, digits],)),
        # bipolar disorder: type II, else the current episode, its severity and psychotic features
        *(Pattern(code, f"bipolar disorder, {what}", (r"\bbipolar\b", *needs), unless=unless)
          for code, what, needs, unless in _bipolar_patterns(language, psychotic)),
        # cough by its duration (Cough, acute / subacute / chronic)
        Pattern("R05.1", "acute cough",
                (r"(?<!no )(?<!denies )(?<!without )\bcough\b" if en else r"(?<!sin )(?<!no )\btos\b", r"\bacute\b|\bx ?[1-9]\d? ?(?:days?|d)\b|for [1-9]\d? days\b" if en
                 else r"\baguda\b|de [1-9]\d? d[ií]as\b"), unless=r"chronic|weeks|months" if en else r"cr[oó]nica|semanas|meses"),
        Pattern("R05.3", "chronic cough",
                (r"(?<!no )(?<!denies )(?<!without )\bcough\b" if en else r"(?<!sin )(?<!no )\btos\b",
                 r"\bchronic\b" if en else r"\bcr[oó]nica\b")),
        # obesity by class (E66.81-, FY2025)
        *(Pattern(f"E66.81{n}", f"obesity, class {n}",
                  (rf"\bobes(?:ity|e),? (?:class|grade|type) (?:{n}|{roman})\b|\bclass (?:{n}|{roman}) obesity\b" if en
                   else rf"\bobesidad (?:de )?(?:clase|grado|tipo) (?:{n}|{roman})\b",))
          for n, roman in (("1", "i"), ("2", "ii"), ("3", "iii"))),
    ]


# the eyes as ophthalmology writes them: OD right, OS / OI left, OU / AO both
_SIDE = {"en": (r"\bright\b|\brt\b|(?-i:\bR\b)(?= \w)|(?-i:\bOD\b)", r"\bleft\b|\blt\b|(?-i:\bL\b)(?= \w)|(?-i:\bOS\b)",
                r"\bbilateral|\bboth\b|(?-i:\bOU\b)"),
         "es": (r"\bderech[oa]s?\b|\bdcha?\b|(?-i:\bOD\b)", r"\bizquierd[oa]s?\b|\bizq(?:d[oa])?\b|(?-i:\bOI\b)",
                r"\bbilateral|\bambos\b|(?-i:\bAO\b)")}


@lru_cache(maxsize=4)
def _compiled(language: str) -> tuple[tuple[Pattern, tuple[re.Pattern[str], ...], re.Pattern[str] | None], ...]:
    """Each pattern with its words compiled, once per language (read_conditions runs on every note)."""
    return tuple((p, tuple(re.compile(words, _I) for words in p.needs), re.compile(p.unless, _I) if p.unless else None)
                 for p in _patterns(language))


@lru_cache(maxsize=4)
def _sides(language: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(words, _I) for words in _SIDE[language])


def read_conditions(text: str, language: str, sentences: SentenceIndex, reading):  # noqa: ANN001, ANN201
    """The readings of the patterns whose words all lie in one sentence of ``text``; ``reading(start, end, code,
    what)`` makes one. A sentence gives one code per category (the first pattern of a category wins)."""
    if language not in _SIDE:
        return []
    found = []
    seen: set[tuple[int, str]] = set()
    hits: dict[str, list[re.Match[str]]] = {}  # patterns share their first words (a DVT's, a depression's): scan once
    for pattern, (first, *rest), unless in _compiled(language):
        if first.pattern not in hits:
            hits[first.pattern] = list(first.finditer(text))
        for match in hits[first.pattern]:
            left, right = sentences.sentence_bounds(match.start(), match.end())
            if (left, pattern.code[:pattern.one_per]) in seen:
                continue
            sentence = text[left:right]
            others = [words.search(sentence) for words in rest]
            if not all(others) or unless is not None and unless.search(sentence):
                continue
            code = pattern.code
            if pattern.sides:  # the side of the clause that names it ("POAG OS, mild; OD no damage"), else the sentence's
                clause = text[slice(*sentences.clause_bounds(match.start(), match.end(), SEMICOLON))]
                said = [i for i, words in enumerate(_sides(language)) if words.search(clause)] or \
                    [i for i, words in enumerate(_sides(language)) if words.search(sentence)]
                index = 2 if 2 in said or len(said) > 1 else said[0] if said else 3
                code = code.format(side=pattern.sides[index])
            starts = [match.start(), *(left + m.start() for m in others)]
            ends = [match.end(), *(left + m.end() for m in others)]
            seen.add((left, pattern.code[:pattern.one_per]))
            found.append(reading(min(starts), max(ends), code, pattern.what,
                                 ((match.start(), match.end()),
                                  *((left + m.start(), left + m.end()) for m in others))))
    return found
