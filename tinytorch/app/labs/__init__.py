"""The lab machinery: solution regions, student releases, grading and checks.

Nothing here is imported by ``import tinytorch``; the ``tinytorch lab`` and
``tinytorch grade`` commands load these modules when they run.
"""
