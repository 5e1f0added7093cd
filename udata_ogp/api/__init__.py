"""The REST API under /api/1/ogp/, in udata's flask-restx API and its OpenAPI.

`base` holds the namespace, the error mapping, body validation and the lookups shared by every
resource; `parsers` the query-string parsers; `plans`, `commitments`, `links` and `transfer`
(import/export) one resource family each.
"""
