"""Presentations of results for people: self-contained HTML tearsheets and their charts.

Like ``cli`` and ``api``, this is an outer layer: it reads domain results and writes files,
and nothing inside the library depends on it. matplotlib (the ``report`` extra) is imported
only when a chart is drawn.
"""
