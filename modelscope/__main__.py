from modelscope.cli import main

main()
