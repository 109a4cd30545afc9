"""Status codes that describe another condition: without that condition coded they stand for nothing."""

from __future__ import annotations

from core.rules.worklist import Worklist

# Status code prefix → the conditions it describes; without one of them coded it gives way. Z17 asks the breast or
# ovarian malignancy to be coded first (a history of the cancer, Z85.3, has no receptor status to report); an oral
# or injectable antidiabetic is long-term treatment of a glucose disorder (dapagliflozin for heart failure is not).
_PARTNERS = {
    "Z17": ("C50", "C56", "D05"),
    "Z79.84": ("E08", "E09", "E10", "E11", "E13", "O24", "R73", "E28.2", "E88.81"),
    "Z79.85": ("E08", "E09", "E10", "E11", "E13", "O24", "R73", "E66", "E28.2", "E88.81"),
}


# Status code prefix → the complication codes that already say it (I.C.21.c.3: no status code beside a code that
# includes it): an infected knee prosthesis T84.53XA holds the knee replacement Z96.651.
_IMPLIED_BY = {"Z96.6": ("T84",), "Z95": ("T82",), "Z94": ("T86",)}


def unpartnered_status(work: Worklist) -> None:
    """Status codes without the condition they describe, or beside a complication code that includes them."""
    coded = [e.code for e in work.coded()]
    for entry in work.coded():
        wanted = next((codes for prefix, codes in _PARTNERS.items() if entry.code.startswith(prefix)), None)
        if wanted and not any(code.startswith(wanted) for code in coded):
            work.demote(entry.code, "status", f"no coded condition it describes ({', '.join(wanted[:3])} ...)")
        implied = next((codes for prefix, codes in _IMPLIED_BY.items() if entry.code.startswith(prefix)), ())
        holder = next((code for code in coded if implied and code.startswith(implied)), "")
        if holder:
            work.absorb(entry.code, holder, "status", f"{holder} already says the patient has it")



_TREATMENT_HISTORY = ("Z92.21", "Z92.22", "Z92.23", "Z92.3")


def treatment_of_a_current_malignancy(work: Worklist) -> None:
    """Chemotherapy or radiation given for a malignancy the note codes as current is that malignancy's treatment,
    not a history of treatment (Z92.2-, Z92.3); with a past malignancy coded (Z85) the history stays."""
    coded = [e.code for e in work.coded()]
    current = [c for c in coded if c.startswith("C") and not "C77" <= c[:3] <= "C79" and not c.startswith("C7B")]
    if not current or any(c.startswith("Z85") for c in coded):
        return
    for entry in work.coded():
        if entry.code.startswith(_TREATMENT_HISTORY):
            work.demote(entry.code, "status", f"the treatment of the current malignancy ({current[0]})")


_DRUG_PROBLEM = ("R79.1", "D68.32", "T45.51", "T45.52", "T46.0X1", "T46.0X5")


def monitoring_that_found_a_problem(work: Worklist) -> None:
    """A drug level checked at a visit that finds and treats its problem ("INR 5.8 ... supratherapeutic INR due to
    warfarin") is coded by the problem; the monitoring encounter code (Z51.81) is for a check that finds none."""
    problem = next((e.code for e in work.coded() if e.code.startswith(_DRUG_PROBLEM)), "")
    if problem and "Z51.81" in work.entries and work.entries["Z51.81"].coded:
        work.demote("Z51.81", "encounter", f"the monitoring found the problem coded ({problem})")
