"""Fixtures shared by the tools tests."""

from tests.engines.fake_trt import fake_gpu

__all__ = ["fake_gpu"]
