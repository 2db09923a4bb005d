/*
 * Poke: make a vCPU leave KVM_RUN promptly, from any thread.
 *
 * poke() sets poke_pending, then kvm_run.immediate_exit, then (only if the
 * EMT is between its poke check and the end of KVM_RUN) sends it the kick
 * signal.  The EMT sets in_run before checking poke_pending, so either it
 * sees the flag, or KVM sees immediate_exit, or the signal interrupts the
 * guest: no poke is lost.  The handler is empty; KVM_RUN returns EINTR
 * because the handler is installed without SA_RESTART.
 */
#include "kvm_internal.h"

#include <signal.h>
#include <string.h>

#include <vmm/err.h>

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static int kick_install_rc = VINF_SUCCESS;

static int kick_signal(void)
{
    return SIGRTMIN + 1;
}

static void kick_handler(int sig)
{
    (void)sig;
}

static void kick_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                 /* no SA_RESTART: KVM_RUN must see EINTR */
    if (sigaction(kick_signal(), &sa, NULL) != 0)
        kick_install_rc = VERR_INTERNAL_ERROR;
}

/* Installs the handler once per process and unblocks the signal in the calling EMT. */
int kvm_poke_prepare_thread(void)
{
    pthread_once(&kick_once, kick_install);
    if (kick_install_rc != VINF_SUCCESS)
        return kick_install_rc;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, kick_signal());
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? VINF_SUCCESS : VERR_INTERNAL_ERROR;
}

void kvm_poke(PVMCPU vcpu)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
    if (!kv)
        return;
    atomic_store(&kv->poke_pending, true);
    if (kv->run)
        __atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (atomic_load(&kv->in_run))
        pthread_kill(kv->thread, kick_signal());
}
