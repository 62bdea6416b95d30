/* SPDX-License-Identifier: GPL-2.0 */
/* filelesslock's operations (event `operation`; their names in events, through src/abi.rs). */
#ifndef BPFLOCK_FILELESSLOCK_H
#define BPFLOCK_FILELESSLOCK_H

enum filelesslock_op {
	FILELESS_EXEC = 0,          /* execve/execveat of the file, scripts included */
	FILELESS_MMAP_EXEC = 1,     /* mmap(PROT_EXEC) of the file: ld.so /proc/self/fd/N */
	FILELESS_MPROTECT_EXEC = 2, /* mprotect(PROT_EXEC) of a mapping of the file */
	FILELESS_KERNEL_READ = 3,   /* the kernel reading the file as code: finit_module, kexec_file_load */
	FILELESS_KERNEL_LOAD = 4,   /* code from memory, no file at all: init_module, kexec_load */
};

#endif
