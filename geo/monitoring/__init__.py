"""Pilot monitoring and evaluation (DESIGN.md section 4d).

- :mod:`geo.monitoring.indicators`: what may be recorded (indicators, breakdowns, periods, the cost reference);
- :mod:`geo.monitoring.models`: the tables (``monitoring_value``, ``pilot_evaluation``);
- :mod:`geo.monitoring.records`: writing (API, CSV import) and reading records, with who may write what;
- :mod:`geo.monitoring.lifecycle`: the rules the proposal state machine calls (end warning, extension,
  ``evaluated``);
- :mod:`geo.monitoring.evaluate`: the evaluation per pilot and across the portfolio;
- :mod:`geo.monitoring.report`: the evaluation as text, CSV and HTML with the trade-offs chart.

Nothing here imports the HTTP layer; nothing connects at import. The command line is ``cli/monitoring.py``
(``opvangmatch monitoring import``, ``opvangmatch evaluate pilot|portfolio``); the routes ``api/routes/monitoring.py``.
"""
