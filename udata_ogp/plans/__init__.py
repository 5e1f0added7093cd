"""The action-plan document: the canonical format and the reference shape, CSV, import, export.

Layers, bottom up: `document` (canonical dict, reference mapper, JSON Schema; pure), `csvfile`
(the same document as CSV; pure), `exporting` (database → document), `importing` (document →
database, validated whole before any write).
"""
