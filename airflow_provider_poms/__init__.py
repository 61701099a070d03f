"""Apache Airflow provider for Fermilab POMS and CMS ReqMgr2.

Importing the package is cheap on purpose: DAG files import operators from submodules, and
nothing heavy (jsonschema, the async stack, the emulator) is loaded until it is used.
"""

__version__ = "0.1.0"
