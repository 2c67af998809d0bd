from tunecheck.cli import main

main()
