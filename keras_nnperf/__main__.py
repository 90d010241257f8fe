"""`python -m keras_nnperf` runs the `nnperf` command line."""

import sys

from keras_nnperf.cli import main

if __name__ == "__main__":
    sys.exit(main())
