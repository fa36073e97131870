__version__ = "0.2.0"  # the libumpire release these bindings follow (include/umpire.h UMPIRE_VERSION_*)
