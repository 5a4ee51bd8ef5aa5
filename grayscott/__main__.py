from grayscott.cli import main

main()
