"""Imported at start by the Ralph processes the xAPI tests and bench start (their PYTHONPATH only).

Ralph 5.1.0's file-system LRS backend writes every POST to one file with the CREATE operation, which
refuses a file that exists: each POST after the first answers 500 ("already exists and overwrite is
not allowed"). Writing with the same backend's APPEND operation is what a store needs; nothing else of
Ralph changes (its validation, its check of ids already stored, its reads).
"""

try:
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
except ImportError:  # another interpreter on the same path: not Ralph's
    pass
