# aarch64-none.cmake - cross toolchain for the freestanding hv-core image and its
# bare-metal test guests. Debian's aarch64-linux-gnu-gcc is used as a bare-metal
# compiler: no libc, no startup files, no PIE, static, and only the compiler's own
# freestanding headers (hv-core/lib/include supplies string.h and stdlib.h).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_OBJCOPY aarch64-linux-gnu-objcopy CACHE FILEPATH "objcopy for raw images")
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Every CPU that runs this code may run a guest's FP/SIMD code too, so our own code
# uses general registers only (-mgeneral-regs-only); strict alignment because
# guests run with their MMU off (Device memory) and early boot runs before the
# EL2 MMU is on. No stack protector in our code (the guard lives in lib/ for the
# prebuilt libfdt only).
set(HV_FREESTANDING_FLAGS
  "-ffreestanding -nostdinc -isystem /usr/lib/gcc-cross/aarch64-linux-gnu/12/include \
-fno-builtin -fno-stack-protector -fno-pie -fno-pic -mgeneral-regs-only -mstrict-align \
-mno-outline-atomics -march=armv8-a -fno-common -fno-omit-frame-pointer")
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
  OUTPUT_VARIABLE HV_GCC_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "/usr/lib/gcc-cross/aarch64-linux-gnu/12/include" "${HV_GCC_INCLUDE}"
  HV_FREESTANDING_FLAGS "${HV_FREESTANDING_FLAGS}")

set(CMAKE_C_FLAGS_INIT "${HV_FREESTANDING_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${HV_FREESTANDING_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
