/** What keepalived's own timers predict for each drill, from the learner's config. */
import type { ExpectedOutage, FailureDrill } from '../api';

/**
 * The outage theory predicts for a drill, from the learner's config: `advertInt` and `interval`
 * in seconds, `priority` of the node that takes over, `fall` of the haproxy track script.
 *
 * keepalived 2.2.7, VRRPv2: a backup declares the master down after 3×advert_int + skew, where
 * skew = (256 − priority)/256 s (advert_int does not scale it in v2), counted from the last advert
 * it heard — which left the master 0…advert_int before the failure. A master that goes to FAULT
 * (its track script failed `fall` times, one check per `interval`) or stops cleanly sends an
 * advert with priority 0, and the backup takes over after the skew alone.
 */
/**
 * How long a backup waits without adverts before it declares the master down and takes over:
 * 3×advert_int + (256 − priority)/256 s (VRRPv2; keepalived 2.2.7). Also how long a fresh pair of
 * BACKUP nodes waits before the first MASTER.
 */
export function masterDownMs(config: { advertInt: number; priority: number }): number {
	return 3 * config.advertInt * 1000 + skewMs(config.priority);
}

export function expectedOutageMs(
	drill: FailureDrill | 'restore',
	config: { advertInt: number; priority: number; fall: number; interval: number },
): ExpectedOutage {
	const skew = skewMs(config.priority);
	const advert = config.advertInt * 1000;
	const masterDown = masterDownMs(config);
	const s = (ms: number) => (ms / 1000).toFixed(1).replace('.', ',');
	switch (drill) {
		case 'stop-haproxy': {
			const check = config.interval * 1000;
			const max = config.fall * check + skew;
			return {
				ms: Math.round(max),
				range: [Math.round((config.fall - 1) * check + skew), Math.round(max)],
				explanation: `Скрипт chk_haproxy проверяет haproxy раз в ${s(check)} с и должен упасть ${config.fall} раза подряд (до ${s(config.fall * check)} с); тогда узел уходит в FAULT и шлёт объявление с приоритетом 0, и резервный узел становится MASTER через (256 − ${config.priority})/256 = ${s(skew)} с. Итого около ${s(max)} с.`,
			};
		}
		case 'freeze-node':
		case 'cut-network':
			return {
				ms: Math.round(masterDown),
				range: [Math.round(masterDown - advert), Math.round(masterDown)],
				explanation: `${drill === 'freeze-node' ? 'Замороженный' : 'Отключённый'} MASTER молчит, приоритета 0 не будет. Резервный узел ждёт 3 × advert_int + (256 − ${config.priority})/256 = ${s(masterDown)} с с последнего услышанного объявления, а оно ушло за 0…${s(advert)} с до сбоя: простой ${s(masterDown - advert)}–${s(masterDown)} с.`,
			};
		case 'kill-keepalived':
			return {
				ms: 0,
				range: null,
				explanation: `Простоя нет: VIP и haproxy остаются на узле с убитым keepalived. Но через ${s(masterDown - advert)}–${s(masterDown)} с второй узел тоже станет MASTER, и VIP окажется на обоих (split brain).`,
			};
		case 'block-vrrp':
			return {
				ms: 0,
				range: null,
				explanation: `Простоя нет: оба узла живы. Но объявления не доходят, и через ${s(masterDown - advert)}–${s(masterDown)} с оба станут MASTER с одним VIP (split brain); клиенты попадают то на один, то на другой.`,
			};
		case 'vrid-conflict':
			return {
				ms: 0,
				range: null,
				explanation:
					'Простоя нет: чужие объявления с тем же virtual_router_id, но другими адресами отбрасываются, а в журнале появляется «ip address associated with VRID … not present in MASTER advert».',
			};
		case 'restore':
			return { ms: null, range: null, explanation: 'Всё возвращается как было.' };
	}
}

function skewMs(priority: number): number {
	return ((256 - priority) / 256) * 1000;
}
