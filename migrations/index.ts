import type { Migration } from 'kysely'
import * as initial from './0001_initial'
import * as sessionizer from './0002_sessionizer'
import * as apiAuth from './0003_api_auth'
import * as auditChain from './0004_audit_chain'
import * as nasIpv6Address from './0005_nas_ipv6_address'
import * as dynamicAuthorization from './0006_dynamic_authorization'
import * as sessionTruth from './0007_session_truth'
import * as sessionLifecycle from './0008_session_lifecycle'
import * as apiClientRotation from './0009_api_client_rotation'
import * as serviceRole from './0010_service_role'
import * as usage from './0011_usage'
import * as sessionActivity from './0012_session_activity'
import * as auditAppend from './0013_audit_append'
import * as interimCost from './0014_interim_cost'
import * as serviceRoles from './0015_service_roles'
import * as abandonedSessions from './0016_abandoned_sessions'
import * as auditLanes from './0017_audit_lanes'
import * as addressHolds from './0018_address_holds'
import * as activityRollups from './0019_activity_rollups'
import * as monthlyPartitions from './0020_monthly_partitions'
import * as auditPartitions from './0021_audit_partitions'
import * as monthlyTotalsPartitions from './0022_monthly_totals_partitions'
import * as reportBuckets from './0023_report_buckets'
import * as sessionHistory from './0024_session_history'
import * as historyWithoutDefault from './0025_history_without_default'

/**
 * Every migration, by name, in the order kysely's Migrator applies them. Imported statically (not
 * found by scanning the folder) so it works the same under tsx, vitest and a bundler;
 * test/migrations.test.ts fails when a file here is missing from the list.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_sessionizer': sessionizer,
  '0003_api_auth': apiAuth,
  '0004_audit_chain': auditChain,
  '0005_nas_ipv6_address': nasIpv6Address,
  '0006_dynamic_authorization': dynamicAuthorization,
  '0007_session_truth': sessionTruth,
  '0008_session_lifecycle': sessionLifecycle,
  '0009_api_client_rotation': apiClientRotation,
  '0010_service_role': serviceRole,
  '0011_usage': usage,
  '0012_session_activity': sessionActivity,
  '0013_audit_append': auditAppend,
  '0014_interim_cost': interimCost,
  '0015_service_roles': serviceRoles,
  '0016_abandoned_sessions': abandonedSessions,
  '0017_audit_lanes': auditLanes,
  '0018_address_holds': addressHolds,
  '0019_activity_rollups': activityRollups,
  '0020_monthly_partitions': monthlyPartitions,
  '0021_audit_partitions': auditPartitions,
  '0022_monthly_totals_partitions': monthlyTotalsPartitions,
  '0023_report_buckets': reportBuckets,
  '0024_session_history': sessionHistory,
  '0025_history_without_default': historyWithoutDefault,
}
