"""Adapters that plug gaoxin into other frameworks.

Each adapter lives in its own module and imports its framework there, so `import rag` never pulls in
a framework the caller does not use. Framework objects stay inside these modules: the engine itself
only sees the frozen records of `rag.types`.

>>> # from rag.integrations.langchain import GaoxinRetriever, gaoxin_chain
>>> # gaoxin_chain().invoke("2024年昆山高新区地区生产总值是多少？").answer
"""
