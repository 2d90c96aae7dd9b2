from autotrain.cli import main

main()
