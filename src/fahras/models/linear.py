"""One logistic "head" over a few dense features: fit (with its fall-back), score, save as JSON.

The ensemble's stacker, the headings backend and the zero-shot backend all
learn a handful of weights over dense features with scikit-learn's
:class:`~sklearn.linear_model.LogisticRegression` and keep them as plain
JSON numbers (no pickle).  :class:`LinearHead` is that block, written once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

#: Logits are clipped to this range before the logistic function (as they always were).
_CLIP = 50.0
#: The intercept of a head fitted on targets that are all true (+) or all false (-).
_CONSTANT = 10.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function of (clipped) logits: ``scipy.special.expit``."""
    return expit(np.clip(z, -_CLIP, _CLIP))


@dataclass
class LinearHead:
    """Weights over dense features: ``sigmoid(((x - mean) / scale) @ coef + intercept)``.

    ``mean``/``scale`` are None for a head fitted on the features as they are.
    """

    coef: np.ndarray
    intercept: float
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @staticmethod
    def degenerate(target: np.ndarray) -> bool:
        """True when ``target`` has no rows or a single class (no regression can be fitted)."""
        return len(target) == 0 or bool(target.all()) or not target.any()

    @classmethod
    def constant(cls, n_features: int, positive: bool) -> "LinearHead":
        """No weights, a large intercept: every row scores (almost) 1 or 0."""
        return cls(np.zeros(n_features), _CONSTANT if positive else -_CONSTANT)

    @classmethod
    def fit(cls, x: np.ndarray, target: np.ndarray, *, C: float = 1.0, max_iter: int = 1000,
            sample_weight: np.ndarray | None = None, standardise: bool = False) -> "LinearHead":
        """A logistic regression of ``target`` (bool) on ``x``; a :meth:`constant` head when
        :meth:`degenerate`.  With ``standardise`` the features are centred and scaled first
        (weighted by ``sample_weight``; a constant feature keeps scale 1)."""
        from sklearn.linear_model import LogisticRegression

        target = np.asarray(target, dtype=bool)
        mean = scale = None
        if standardise:
            if len(x):
                mean = np.average(x, axis=0, weights=sample_weight)
                scale = np.sqrt(np.average((x - mean) ** 2, axis=0, weights=sample_weight))
            else:
                mean, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
            scale = np.where(scale > 1e-9, scale, 1.0)
        if cls.degenerate(target):
            head = cls.constant(x.shape[1], len(target) > 0 and bool(target.all()))
        else:
            model = LogisticRegression(C=float(C), max_iter=max_iter)
            model.fit(x if mean is None else (x - mean) / scale, target, sample_weight=sample_weight)
            head = cls(model.coef_[0].astype(np.float64), float(model.intercept_[0]))
        head.mean, head.scale = mean, scale
        return head

    def logits(self, x: np.ndarray) -> np.ndarray:
        if self.mean is not None:
            x = (x - self.mean) / self.scale
        return x @ self.coef + self.intercept

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of the rows of ``x``."""
        return sigmoid(self.logits(x))

    def to_dict(self) -> dict:
        data = {"coef": [float(c) for c in self.coef], "intercept": float(self.intercept)}
        if self.mean is not None:
            data["mean"] = [float(m) for m in self.mean]
            data["scale"] = [float(s) for s in self.scale]
        return data

    @classmethod
    def from_dict(cls, data: dict, n_features: int | None = None) -> "LinearHead":
        """The head :meth:`to_dict` wrote; a ``ValueError`` unless it has ``n_features`` weights."""
        head = cls(np.asarray(data["coef"], dtype=np.float64), float(data["intercept"]))
        if "mean" in data:
            head.mean = np.asarray(data["mean"], dtype=np.float64)
            head.scale = np.asarray(data["scale"], dtype=np.float64)
            if head.mean.shape != head.coef.shape or head.scale.shape != head.coef.shape:
                raise ValueError("a linear head's mean and scale do not match its weights")
        if n_features is not None and len(head.coef) != n_features:
            raise ValueError(f"{len(head.coef)} weights where this version of Fahras uses {n_features}: "
                             "retrain the model")
        return head
