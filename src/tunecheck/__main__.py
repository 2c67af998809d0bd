"""`python -m tunecheck`: the command line. The program's entry point, not library code: the
library itself never imports `tunecheck.cli`."""

import tunecheck.cli

tunecheck.cli.main()
