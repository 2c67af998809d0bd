"""Data: load eval/train sets from files or the hub, with field mapping and content hashes."""

from tunecheck.data._fields import FieldMap
from tunecheck.data._load import content_hash, load_data, parse_hf_source
from tunecheck.data._sample import Dataset, Message, Sample, Shape

__all__ = ["Dataset", "FieldMap", "Message", "Sample", "Shape", "content_hash", "load_data", "parse_hf_source"]
