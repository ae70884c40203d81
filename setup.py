"""The optional compiled helper for `modelscope stats` (see modelscope/analysis/_scan.c).

Everything else is in pyproject.toml. `optional=True`: without a C compiler the install still
succeeds and stats use the NumPy path (same figures, slower).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("modelscope.analysis._scan", ["modelscope/analysis/_scan.c"], optional=True)])
