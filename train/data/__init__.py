"""Video re-id data: dataset readers (MARS layout and the synthetic world), config, samplers.

Entry points: ``DATASETS`` (format name -> reader), ``read_dataset(cfg)``, ``PKSampler``.
"""

from streid.train.data.mars import read_mars
from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset
from streid.train.data.registry import DATASETS, read_dataset
from streid.train.data.sampler import PKSampler

__all__ = ["DATASETS", "DatasetError", "PKSampler", "TrackletRecord", "VideoDataset", "read_dataset", "read_mars"]
