"""scikit-learn's convergence warnings, counted and logged once per fit.

A fit of many logistic regressions (one per subject) may see some stop at
their iteration limit; scikit-learn then warns once per regression, which
floods the console with the same raw line.  :class:`ConvergenceCount`
keeps those warnings off the console and logs one line per fit instead::

    with ConvergenceCount(log, "tfidf-linear", max_iter) as count:
        for ...:
            model = LogisticRegression(max_iter=max_iter, ...).fit(x, target)
            count.add(model)

The warnings filter is changed only inside the ``with`` (training code, not
the suggestion path).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np


class ConvergenceCount:
    """Counts the regressions that stopped at ``max_iter``; logs "N of M ... did not converge" at the end."""

    def __init__(self, log: logging.Logger, what: str, max_iter: int):
        self.log, self.what, self.max_iter = log, what, int(max_iter)
        self.fitted = self.stopped = 0
        self._catch = warnings.catch_warnings()

    def add(self, model) -> None:
        """Count one fitted scikit-learn model (its ``n_iter_``)."""
        self.fitted += 1
        if int(np.max(getattr(model, "n_iter_", 0))) >= self.max_iter:
            self.stopped += 1

    def __enter__(self) -> "ConvergenceCount":
        from sklearn.exceptions import ConvergenceWarning

        self._catch.__enter__()
        warnings.simplefilter("ignore", ConvergenceWarning)
        return self

    def __exit__(self, *exc) -> None:
        self._catch.__exit__(*exc)
        if self.stopped:
            self.log.warning("%s: %d of %d logistic regressions did not converge in %d iterations",
                          self.what, self.stopped, self.fitted, self.max_iter)
