"""The chaos run of issue 6 on the local stack (infrastructure/local): see run.py."""
