#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# embed-file.py INPUT OUTPUT SYMBOL: writes a C file defining SYMBOL[] (NUL-terminated) and SYMBOL_size.
import sys

src, out, sym = sys.argv[1:]
data = open(src, 'rb').read()
with open(out, 'w') as f:
    f.write('/* generated from %s */\n#include <stddef.h>\n' % src.rsplit('/', 1)[-1])
    f.write('const char %s[] = {\n' % sym)
    for i in range(0, len(data), 16):
        f.write(''.join('%d,' % b for b in data[i:i + 16]) + '\n')
    f.write('0 };\nconst size_t %s_size = %d;\n' % (sym, len(data)))
