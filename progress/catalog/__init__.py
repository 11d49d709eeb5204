"""Challenges and badges as code: the catalog exported to a file and imported back.

- `schema`: the JSON Schema of the file (published at `/api/v1/admin/catalog/schema`), built from the
  models' limits, the grading types and the registered badge conditions, and the paths of its errors.
- `selectors`: the export, in a fixed order so that the same catalog always gives the same file.
- `services`: the import: validate everything first (schema, then the models' and the services' own
  rules), then upsert by slug through the challenge and badge services (their audit entries), in one
  transaction; a dry run stops before writing.

Nothing is ever deleted by an import: what the file leaves out stays as it is.
"""
