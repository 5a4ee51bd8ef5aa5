from grayscott.launcher.cli import main

main()
