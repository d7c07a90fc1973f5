"""The paintings bundled with the web app (public domain; sources in ``gallery/LICENSES.md``).

A request names a style by its key; the key is looked up in :data:`STYLES` and never used to
build a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).parent / "gallery"


@dataclass(frozen=True)
class Style:
    name: str  #: the key a request uses
    title: str
    artist: str
    year: str
    filename: str

    @property
    def path(self) -> Path:
        return FOLDER / self.filename

    def describe(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "artist": self.artist,
            "year": self.year,
            "image": f"/api/styles/{self.name}/image",
        }


STYLES = {
    s.name: s
    for s in (
        Style("starry_night", "The Starry Night", "Vincent van Gogh", "1889", "starry_night.jpg"),
        Style("great_wave", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831", "great_wave.jpg"),
        Style("the_scream", "The Scream", "Edvard Munch", "1893", "the_scream.jpg"),
        Style(
            "shipwreck",
            "The Shipwreck of the Minotaur",
            "J. M. W. Turner",
            "c. 1805-1810",
            "shipwreck_of_the_minotaur.jpg",
        ),
        Style("water_lilies", "Water Lilies", "Claude Monet", "1919", "water_lilies.jpg"),
    )
}
