from stt_studio.cli import main

main()
