/**
 * The «vrid-conflict» drill's neighbour: a keepalived that takes the learner's virtual_router_id
 * for a VRRP group of its own. It is step 11's example made real (content/steps/11-errors.mdx:
 * priority 200, its own VIP; the addresses are in labs/subnets.ts), so what the learner reads
 * there and what the drill shows are the same thing.
 */

/** Higher than the course's 100, as in step 11: the neighbour is MASTER of its group. */
export const INTRUDER_PRIORITY = 200;

export interface IntruderSpec {
	/** The learner's virtual_router_id, read from hap1's keepalived.conf. */
	vrid: number;
	/**
	 * The learner's advert_int: with another one keepalived drops the adverts earlier, on
	 * «advertisement interval mismatch», and the guide's message never comes (step 11).
	 */
	advertInt: number;
	/** The neighbour's own VIP, without a mask. */
	vip: string;
}

/** The neighbour's keepalived.conf. */
export function intruderConfig({ vrid, advertInt, vip }: IntruderSpec): string {
	return [
		'! The drill «vrid-conflict»: a neighbour using the learner’s virtual_router_id.',
		'vrrp_instance intruder {',
		'    state MASTER',
		'    interface eth0',
		`    virtual_router_id ${vrid}`,
		`    priority ${INTRUDER_PRIORITY}`,
		`    advert_int ${advertInt}`,
		'    virtual_ipaddress {',
		`        ${vip}/24 dev eth0`,
		'    }',
		'}',
		'',
	].join('\n');
}
