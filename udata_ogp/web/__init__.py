"""The public pages under /ogp/: one blueprint, its pages, forms, feeds and badge.

`blueprint` (the blueprint object, language, shared helpers) is below every other module here;
`rows` shapes links for display; `pages`, `forms`, `feeds` and `badges` add their routes to it.
Templates are in `udata_ogp/templates/ogp/`, static files in `udata_ogp/static/`.
"""
