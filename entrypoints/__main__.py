from vetrai.entrypoints.cli import main

main()
