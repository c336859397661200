import sys

from suite.overhead.measure import main

sys.exit(main())
