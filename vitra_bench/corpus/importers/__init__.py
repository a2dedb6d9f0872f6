"""Importers: turn other projects' released data into this project's corpus.

Released files are untrusted input, so each importer reads them without executing code from them
(``safe_pickle``) and reports a bad file instead of stopping the run.
"""

from vitra_bench.corpus.importers.safe_pickle import NpyFormatError, UnsafePickleError, load_npy_object
from vitra_bench.corpus.importers.vitra1m import ImportReport, VitraFormatError, episode_from_vitra, import_vitra

__all__ = [
    "ImportReport",
    "NpyFormatError",
    "UnsafePickleError",
    "VitraFormatError",
    "episode_from_vitra",
    "import_vitra",
    "load_npy_object",
]
