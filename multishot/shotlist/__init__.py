"""Layer 2: the input language (schema, YAML and Fountain loading)."""

from multishot.shotlist.errors import Problem, ShotListError
from multishot.shotlist.loader import load_film, parse_film
from multishot.shotlist.schema import Film, Scene, Shot, Transition

__all__ = ["Film", "Problem", "Scene", "Shot", "ShotListError", "Transition", "load_film", "parse_film"]
