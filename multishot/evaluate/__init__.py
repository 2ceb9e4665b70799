"""Weightless metrics of a rendered film: cut accuracy, seam discontinuity, flicker and
character consistency, as pure functions over video files and frames.

`evaluate_film` runs them all from one decode; `metrics_table` prints them. The metric modules
(`cuts`, `seams`, `flicker`, `consistency`) can be used on their own.
"""

from multishot.evaluate.consistency import CharacterBoxes, ShotAppearance, character_consistency
from multishot.evaluate.cuts import detect_cuts_in_file, match_cuts, transition_control_score
from multishot.evaluate.flicker import film_flicker
from multishot.evaluate.metrics import FilmMetrics, evaluate_film, metrics_table
from multishot.evaluate.seams import seam_discontinuity
from multishot.evaluate.timeline import PlannedBoundary, ShotSpan, boundary_kind, layout_timeline

__all__ = [
    "CharacterBoxes", "FilmMetrics", "PlannedBoundary", "ShotAppearance", "ShotSpan",
    "boundary_kind", "character_consistency", "detect_cuts_in_file", "evaluate_film",
    "film_flicker", "layout_timeline", "match_cuts", "metrics_table", "seam_discontinuity",
    "transition_control_score",
]
