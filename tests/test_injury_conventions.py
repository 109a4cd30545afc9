"""Injuries as a coder codes them, on the real knowledge base: the site through the Index to Diseases and Injuries
(with side and encounter) and the external cause through the External Cause Index, from notes written for these
tests."""

from __future__ import annotations

import pytest
from convention_helpers import coded as codes
from convention_helpers import conventions_log as log
from convention_helpers import needs_data, note_coder

from core.rules.external_cause import CauseIndex, complete, english_words, is_external_cause, is_injury, stem
from core.rules.injury import complete_site, injury_index


@pytest.fixture(scope="module")
def code(kb):
    return note_coder(kb)


# -- pieces ---------------------------------------------------------------------------------------------------------
def test_the_stem_meets_the_index_forms() -> None:
    assert stem("slipped") == stem("slipping") == stem("Slipping".lower()) == "slip"
    assert stem("falls") == stem("falling") == "fall"
    assert stem("fell", {"fell": "fall"}) == "fall"


def test_spanish_words_read_as_the_index_english_words() -> None:
    words = [w for w, _ in english_words("Caída desde una escalera de mano; radiografía sin fractura.", "es")]
    assert words[:2] == ["fall", "ladder"]  # "escalera de mano" is a ladder, not stairs
    assert "radius" not in words  # "radio" is a word, not the stem of "radiografía"


def test_negated_words_are_no_subterm() -> None:
    words = {w for w, _ in english_words("laceration of the hand, no foreign body", "en", affirmed=True)}
    assert "hand" in words and "foreign" not in words


def test_chapter_ranges() -> None:
    assert is_injury("S72.001A") and is_injury("T20.211A") and not is_injury("T39.1X1A")
    assert is_external_cause("W01.0XXA") and is_external_cause("V43.52XA") and not is_external_cause("Y92.009")


def test_completion_with_placeholders_and_encounter(tabular) -> None:
    assert complete("W11", "A", tabular) == "W11.XXXA"
    assert complete("W01.0", "D", tabular) == "W01.0XXD"
    assert complete("V43.52", "A", tabular) == "V43.52XA"
    assert complete_site("S72.00-", "right", "A", tabular) == "S72.001A"
    assert complete_site("S93.40-", "", "A", tabular) == "S93.409A"


@needs_data
def test_the_external_cause_walk_follows_the_note_words(kb) -> None:
    causes = CauseIndex(kb.index)
    words = frozenset(w for w, _ in english_words("Slipped on ice and fell.", "en"))
    found = causes.walk(causes.mains["slipping"], words, "slip")
    assert found is not None and found.code == "W00.0" and found.path[-1] == "ice"
    words = frozenset(w for w, _ in english_words("Restrained driver, car struck by another car, traffic collision",
                                                  "en"))
    found = causes.walk(causes.mains["accident"], words, "driver")
    assert found is not None and found.code == "V43.52" and "driver" in found.path


@needs_data
def test_a_without_subterm_asks_for_what_the_note_negates(kb) -> None:
    causes = CauseIndex(kb.index)
    text = "Slipped on the wet floor but did not fall"
    every = frozenset(w for w, _ in english_words(text, "en"))
    affirmed = frozenset(w for w, _ in english_words(text, "en", affirmed=True))
    found = causes.walk(causes.mains["slipping"], affirmed, "slip", negated=every - affirmed)
    assert found is not None and found.code == "W18.40"
    fell = frozenset(w for w, _ in english_words("Slipped on the wet floor and fell", "en"))
    found = causes.walk(causes.mains["slipping"], fell, "slip")
    assert found is not None and found.code == "W01.0"  # "with fall" is the main term's own modifier


@needs_data
def test_the_injury_walk_reads_see_references_below_its_main_term(kb) -> None:
    walker = injury_index(kb.index)
    words = frozenset(w for w, _ in english_words("closed fracture of the right femoral neck", "en"))
    found = walker.walk(walker.mains["fracture traumatic"], words, "fractur")
    assert found is not None and found.code == "S72.00"
    assert "see Fracture, femur, upper end, neck" in found.rationale


# -- whole notes ----------------------------------------------------------------------------------------------------
@needs_data
def test_site_side_and_external_cause(code) -> None:
    result = code("ED: closed fracture of the left femoral neck after tripping and falling on the same level.")
    assert codes(result) == ["S72.002A", "W01.0XXA"]  # the external cause after the injury
    rationale = next(c.rationale for c in result.codes if c.code == "W01.0XXA")
    assert "Fall, falling" in rationale and "→ W01.0" in rationale
    assert any(e["rule"] == "injury site" for e in log(result))


@needs_data
def test_the_external_cause_takes_the_injury_encounter(code) -> None:
    result = code("Follow-up visit: fracture of the right patella, healing well. He fell from a ladder.")
    assert {"S82.001D", "W11.XXXD"} <= set(codes(result))


@needs_data
def test_no_injury_no_external_cause(code) -> None:
    assert not any(c[0] in "VWXY" for c in codes(code("Fell at home last year. Hypertension, well controlled.")))


@needs_data
def test_a_negated_fall_is_no_external_cause(code) -> None:
    result = code("Laceration of the right forearm from a kitchen knife. Denies any fall.")
    assert "W26.0XXA" in codes(result) and not any(c.startswith("W19") for c in codes(result))


@needs_data
def test_spanish_concussion_without_loss_of_consciousness(code) -> None:
    result = code("Caída desde una escalera de mano. Conmoción cerebral sin pérdida de conocimiento.", "es")
    assert codes(result) == ["S06.0X0A", "W11.XXXA"]


@needs_data
def test_spanish_injury_and_cause(code) -> None:
    result = code("Caída desde una escalera de mano. Fractura cerrada de rótula derecha.", "es")
    assert {"S82.001A", "W11.XXXA"} <= set(codes(result))


# -- encounter, displacement, burns, pressure ulcers ------------------------------------------------------------------
def test_a_planned_follow_up_is_no_subsequent_encounter() -> None:
    from core.rules.injury import visit_encounter

    assert visit_encounter("Fell from a chair. Wrist fracture, splinted. Follow up with orthopedics in 1 week.") == "A"
    assert visit_encounter("ED: wrist fracture after a fall, cast applied, healing expected, f/u clinic.") == "A"
    assert visit_encounter("Fracture clinic follow-up, 4 weeks after a wrist fracture; callus seen.") == "D"
    assert visit_encounter("Pt returns for suture removal of a scalp laceration.") == "D"
    assert visit_encounter("Revisión a las 4 semanas de una fractura de muñeca.") == "D"
    assert visit_encounter("Keloid of the chin, the residual of a dog bite in childhood.") == "S"


@needs_data
def test_a_nondisplaced_fracture_is_coded_nondisplaced(code) -> None:
    result = code("Urgent care: nondisplaced fracture of the shaft of the right clavicle, closed, after a fall from a "
                  "bicycle. Sling.")
    assert "S42.024A" in codes(result)


@needs_data
def test_a_part_the_index_writes_with_only(kb) -> None:
    walker = injury_index(kb.index)
    words = frozenset(w for w, _ in english_words("fracture of the right lateral malleolus", "en"))
    found = walker.walk(walker.mains["fracture traumatic"], words, "fractur")
    assert found is not None and found.code == "S82.6"  # "lateral malleolus only"


@needs_data
def test_burn_site_degree_and_extent(code) -> None:
    result = code("Second degree burn of the left palm from a hot stove, about 12% TBSA.")
    assert {"T23.252A", "T31.10"} <= set(codes(result))
    assert not any(c.startswith("T30") for c in codes(result))


@needs_data
def test_pressure_ulcers_each_with_its_own_stage_and_part(code) -> None:
    result = code("Stage 3 pressure ulcer of the L heel and stage 1 pressure ulcer of the coccyx.")
    assert {"L89.623", "L89.151"} <= set(codes(result))
    assert "L89.133" in codes(code("Stage 3 pressure injury of the right lower back."))
    assert "L89.154" in codes(code("Sacral pressure ulcer, stage 2 on admission, progressed to stage 4."))


@needs_data
def test_spanish_trip_to_the_floor_and_a_subcapital_fracture(code) -> None:
    result = code("Tropezó en casa y cayó al suelo. Fractura subcapital de fémur derecho, cerrada.", "es")
    assert {"S72.011A", "W01.0XXA"} <= set(codes(result))
