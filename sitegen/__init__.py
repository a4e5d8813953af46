"""The static inventory site: inventory → Markdown (jinja2) → HTML (MkDocs)."""
