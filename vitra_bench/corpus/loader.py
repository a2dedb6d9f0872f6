"""A ``DataLoader`` whose worker processes cannot leave the parent waiting forever.

Torch's default ``file_descriptor`` sharing strategy sends every batch tensor from a worker as a
file descriptor that a thread in the worker hands over a Unix socket on request. A worker forked
from a parent with running threads (progress monitors, earlier loaders) can inherit a held lock,
that thread never answers, and the parent blocks in ``recvmsg`` with no timeout: our CI hung there
for 300 s in ``test_dataloader_with_workers``. The ``file_system`` strategy passes shared-memory
*names* through the queue instead, so there is no hand-over to wait on (torch's documented remedy,
pytorch/pytorch#973). The strategy is process-wide and inherited by forked workers, so it is set
before the first worker starts. A timeout turns any other stuck worker into an error.
"""

from __future__ import annotations

from typing import Any

import torch.multiprocessing
from torch.utils.data import DataLoader, Dataset

WORKER_TIMEOUT_S = 300.0
"""Seconds a worker may take for one batch before the loader raises instead of waiting on."""


def corpus_loader(dataset: Dataset, *, num_workers: int = 0, **kwargs: Any) -> DataLoader:
    """``DataLoader(dataset, num_workers=..., **kwargs)``, made safe for worker processes."""
    if num_workers > 0:
        torch.multiprocessing.set_sharing_strategy("file_system")
        kwargs.setdefault("timeout", WORKER_TIMEOUT_S)
    return DataLoader(dataset, num_workers=num_workers, **kwargs)
