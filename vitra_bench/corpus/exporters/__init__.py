"""Exporters: write this project's corpora in other projects' released formats.

Each exporter is the inverse of an importer in ``vitra_bench.corpus.importers``, so that data moves
both ways and an export -> import round trip is a test of both.
"""

from vitra_bench.corpus.exporters.teledata import ExportReport, export_teledata, write_teledata

__all__ = ["ExportReport", "export_teledata", "write_teledata"]
