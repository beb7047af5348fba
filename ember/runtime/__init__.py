"""Devices, buffers and launching compiled programs.  Depends only on ember.dtypes."""
