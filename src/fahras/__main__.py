from fahras.cli import main

main()
