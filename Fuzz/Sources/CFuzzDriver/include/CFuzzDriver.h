#ifndef ALPHAEDIT_CFUZZDRIVER_H
#define ALPHAEDIT_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer (`LLVMFuzzerRunDriver`, part of every -fsanitize=fuzzer link) with the
/// command line `argc`/`argv` on `test_one_input`. SwiftPM links an executable target with
/// `main` defined as `<Target>_main`, so each harness defines that function and calls this.
int alphaedit_fuzz_run(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));

#endif
