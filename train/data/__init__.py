"""Video re-id data: readers (MARS, synthetic, DukeMTMC-VideoReID, LS-VID, iLIDS-VID, PRID2011), config, samplers.

Entry points: ``DATASETS`` (format name -> reader), ``read_dataset(format, root, split)``, ``PKSampler``.
"""

from streid.train.data.mars import read_mars
from streid.train.data.records import DatasetError, TrackletRecord, VideoDataset
from streid.train.data.registry import DATASETS, read_dataset
from streid.train.data.sampler import PKSampler

__all__ = ["DATASETS", "DatasetError", "PKSampler", "TrackletRecord", "VideoDataset", "read_dataset", "read_mars"]
