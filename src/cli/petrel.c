/* Placeholder until the front end lands. */
#include <stdio.h>
int main(void) { fputs("petrel: not built yet\n", stderr); return 2; }
