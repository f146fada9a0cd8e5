/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sysinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SG_VERSION
#define SG_VERSION "0"
#endif

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
}

void sg_host_os_name(const char *path, char *out, size_t out_size)
{
    snprintf(out, out_size, "Linux");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512], name[256] = "";
    bool pretty = false;
    while (fgets(line, sizeof(line), f)) {
        bool is_pretty = strncmp(line, "PRETTY_NAME=", 12) == 0;
        if (!is_pretty && (strncmp(line, "NAME=", 5) != 0 || pretty))
            continue;
        char *v = strchr(line, '=') + 1;
        trim(v);
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v[n - 1] = 0;
            v++;
        }
        snprintf(name, sizeof(name), "%s", v);
        pretty |= is_pretty;
    }
    fclose(f);
    if (name[0])
        snprintf(out, out_size, "%s", name);
}

bool sg_host_parse_uuid(const char *s, uint8_t out[16])
{
    int n = 0;
    for (const char *p = s; *p && n < 32; p++) {
        if (*p == '-')
            continue;
        if (isspace((unsigned char)*p))
            break;
        if (!isxdigit((unsigned char)*p))
            return false;
        int v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        if (n % 2 == 0)
            out[n / 2] = (uint8_t)(v << 4);
        else
            out[n / 2] |= (uint8_t)v;
        n++;
    }
    return n == 32;
}

static void cpu_info(struct sg_kvmfr_info *info)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    info->cpus = (uint8_t)(cpus > 255 ? 255 : cpus < 1 ? 1 : cpus);
    info->cores = info->cpus;
    info->sockets = 1;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    int cores = 0, max_phys = -1;
    while (fgets(line, sizeof(line), f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        trim(colon + 1);
        const char *v = colon[1] == ' ' ? colon + 2 : colon + 1;
        if (strncmp(line, "model name", 10) == 0 && !info->cpu_model[0])
            snprintf(info->cpu_model, sizeof(info->cpu_model), "%s", v);
        else if (strncmp(line, "cpu cores", 9) == 0)
            cores = atoi(v);
        else if (strncmp(line, "physical id", 11) == 0 && atoi(v) > max_phys)
            max_phys = atoi(v);
    }
    fclose(f);
    int sockets = max_phys + 1 > 0 ? max_phys + 1 : 1;
    info->sockets = (uint8_t)(sockets > 255 ? 255 : sockets);
    if (cores > 0 && cores * sockets <= 255)
        info->cores = (uint8_t)(cores * sockets);
}

void sg_host_sysinfo(struct sg_kvmfr_info *info, const struct sg_capture_impl *capture)
{
    memset(info, 0, sizeof(*info));
    info->version = SG_KVMFR_VERSION;
    snprintf(info->host_version, sizeof(info->host_version), "spyglass %s", SG_VERSION);
    info->features = sg_capture_can_set_cursor_pos(capture) ? SG_KVMFR_FEATURE_SET_CURSOR_POS : 0;
    info->has_vm_info = true;
    snprintf(info->capture, sizeof(info->capture), "%s", capture->label);
    /* readable by root only on most systems; zero means "unknown" */
    FILE *f = fopen("/sys/class/dmi/id/product_uuid", "r");
    if (f) {
        char line[64];
        if (fgets(line, sizeof(line), f) && !sg_host_parse_uuid(line, info->uuid))
            memset(info->uuid, 0, sizeof(info->uuid));
        fclose(f);
    }
    cpu_info(info);
    info->has_os_info = true;
    info->os_kind = SG_OS_LINUX;
    sg_host_os_name("/etc/os-release", info->os_name, sizeof(info->os_name));
}
