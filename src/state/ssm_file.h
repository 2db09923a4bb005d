/*
 * The built-in file stream: saving writes a temporary file in the target's
 * folder and renames it over the target only after fsync, so a failed or
 * cancelled save leaves an earlier file at that path intact.
 */
#ifndef PETREL_SSM_FILE_H
#define PETREL_SSM_FILE_H

#include <stdbool.h>

#include <vmm/ssm.h>

struct ssm_file {
    int   fd;
    char *path;                        /* the final name */
    char *tmp;                         /* the temporary name while writing */
    bool  writing;
};

extern const SSMSTRMOPS ssm_file_ops;

/* VBox status; on failure nothing is left open or created. */
int ssm_file_create(struct ssm_file *f, const char *path);
int ssm_file_open(struct ssm_file *f, const char *path);

#endif /* PETREL_SSM_FILE_H */
